// Prints the JSON Schema of the webhook bodies (docs/webhooks.schema.json):
//   bazel run //tools/webhook_schema > docs/webhooks.schema.json
#include <cstdio>
#include <string>

#include "service/webhooks/payload_schema.h"

int main(int argc, char** argv) {
  if (argc > 1) {
    std::fprintf(stderr,
                 "usage: %s\nPrints the JSON Schema of the service's webhook "
                 "bodies to stdout; takes no flags.\n",
                 argv[0]);
    return std::string(argv[1]) == "--help" ? 0 : 2;
  }
  const std::string schema = unified::webhooks::PayloadSchema();
  std::fwrite(schema.data(), 1, schema.size(), stdout);
  return 0;
}
