// A shared object that is no gRPC plugin: it lacks the entry point (plugin_loader_test.cpp).
extern "C" __attribute__((visibility("default"))) int mg_test_something_else() {
    return 42;
}
