// export.mjs: the OpenTelemetry JS SDK as a real sender for the end-to-end test
// tests/integration/otel_sdk_e2e_test.cpp (tests/otel/README.md).
//
//   node export.mjs <spec.json>
//
// The spec (written by the test) says what to record and where to send it:
//   { "exporter": "grpc" | "proto" | "json",     // which OTLP exporter package sends
//     "url": "http://127.0.0.1:PORT/v1/metrics",  // grpc: "http://127.0.0.1:PORT"
//     "temporality": "cumulative" | "delta",      // the exporters' temporality preference
//     "resource": { "service.name": "...", ... },
//     "scope": { "name": "...", "version": "..." },
//     "instruments": [ { "kind": "counter" | "updown" | "gauge" | "histogram"
//                                | "exponential_histogram",
//                        "name": "...", "unit": "...",
//                        "bounds": [ ... ],                    // histogram only
//                        "points": [ { "attributes": {...}, "values": [ ... ] } ] } ] }
// Counters and up-down counters add each value, histograms record each value, an observable
// gauge reports the last value of each attribute set at every collection.
//
// It then force-flushes (one collection and export) and shuts down (which collects and exports
// once more), and prints one JSON object per line on stdout:
//   {"event":"resource","attributes":{...}}              the resource as the SDK built it
//   {"event":"phase","phase":"flush"|"shutdown"}         before each step
//   {"event":"export","phase":...,"code":0|1,"error":...,"partial_success":{...}|null}
//                                                         each export's result; partial_success
//                                                         is what the exporter logged for it
//   {"event":"diag","level":...,"message":...}           every other SDK diagnostic (warn and up)
//   {"event":"done"}
// The OTLP exporters report a partial success only through the diagnostic logger
// ("Received Partial Success response: {...}"), so a logger is installed to catch it.
import { readFileSync } from 'node:fs';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import {
    AggregationType,
    MeterProvider,
    PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
    AggregationTemporalityPreference,
    OTLPMetricExporter as JsonExporter,
} from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// An int64 as the exporters hand it over: a number, a decimal string (OTLP/JSON), or a
// protobufjs Long ({low, high}).
function int64(v) {
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return Number(v);
    if (typeof v === 'object' && 'low' in v) return v.high * 4294967296 + (v.low >>> 0);
    return Number(v);
}

let pendingPartial = null;  // the partial success logged for the export in progress
const partialPrefix = 'Received Partial Success response';
const logAt = (level) => (message, ...args) => {
    if (String(message).startsWith(partialPrefix)) {
        const body = JSON.parse(args[0] ?? '{}');
        pendingPartial = {
            rejected_data_points: int64(body.rejectedDataPoints),
            error_message: body.errorMessage ?? '',
        };
        return;
    }
    print({ event: 'diag', level, message: [message, ...args].map(String).join(' ') });
};
diag.setLogger(
    {
        error: logAt('error'),
        warn: logAt('warn'),
        info: () => {},
        debug: () => {},
        verbose: () => {},
    },
    DiagLogLevel.WARN,
);

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const temporalityPreference =
    spec.temporality === 'delta'
        ? AggregationTemporalityPreference.DELTA
        : AggregationTemporalityPreference.CUMULATIVE;
const exporterOptions = { url: spec.url, temporalityPreference };
const exporters = {
    json: () => new JsonExporter(exporterOptions),
    proto: () => new ProtoExporter(exporterOptions),
    grpc: () => new GrpcExporter(exporterOptions),
};
if (!(spec.exporter in exporters)) {
    throw new Error(`unknown exporter "${spec.exporter}": want grpc, proto or json`);
}
const inner = exporters[spec.exporter]();

// The reader's exporter: the chosen one, with each export's result printed.
let phase = 'none';
const exporter = {
    export(metrics, done) {
        pendingPartial = null;
        inner.export(metrics, (result) => {
            print({
                event: 'export',
                phase,
                code: result.code,
                error: result.error ? String(result.error) : null,
                partial_success: pendingPartial,
            });
            pendingPartial = null;
            done(result);
        });
    },
    forceFlush: () => inner.forceFlush(),
    shutdown: () => inner.shutdown(),
    selectAggregationTemporality: (type) => inner.selectAggregationTemporality(type),
    selectAggregation: (type) => inner.selectAggregation(type),
};

const resource = resourceFromAttributes(spec.resource);
print({ event: 'resource', attributes: resource.attributes });

const views = spec.instruments
    .filter((i) => i.kind === 'exponential_histogram')
    .map((i) => ({
        instrumentName: i.name,
        aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM },
    }));
const provider = new MeterProvider({
    resource,
    views,
    readers: [
        // Exports only when asked (flush, shutdown): the test wants exactly those exports.
        new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600 * 1000 }),
    ],
});
const meter = provider.getMeter(spec.scope.name, spec.scope.version);

for (const inst of spec.instruments) {
    const options = { unit: inst.unit ?? '', description: `e2e ${inst.kind}` };
    switch (inst.kind) {
        case 'counter': {
            const c = meter.createCounter(inst.name, options);
            for (const p of inst.points) for (const v of p.values) c.add(v, p.attributes);
            break;
        }
        case 'updown': {
            const c = meter.createUpDownCounter(inst.name, options);
            for (const p of inst.points) for (const v of p.values) c.add(v, p.attributes);
            break;
        }
        case 'gauge': {
            const g = meter.createObservableGauge(inst.name, options);
            g.addCallback((result) => {
                for (const p of inst.points) result.observe(p.values.at(-1), p.attributes);
            });
            break;
        }
        case 'histogram':
        case 'exponential_histogram': {
            const advice =
                inst.kind === 'histogram' ? { explicitBucketBoundaries: inst.bounds } : undefined;
            const h = meter.createHistogram(inst.name, { ...options, advice });
            for (const p of inst.points) for (const v of p.values) h.record(v, p.attributes);
            break;
        }
        default:
            throw new Error(`unknown instrument kind "${inst.kind}"`);
    }
}

phase = 'flush';
print({ event: 'phase', phase });
await provider.forceFlush();
phase = 'shutdown';
print({ event: 'phase', phase });
await provider.shutdown();
print({ event: 'done' });
