// The JSON Schema (draft 2020-12) of the webhook bodies payloads.h writes,
// derived from the event messages' descriptors so it cannot drift from
// them. docs/webhooks.schema.json is its output (tools/webhook_schema
// prints it; a test keeps the two equal).
#ifndef SERVICE_WEBHOOKS_PAYLOAD_SCHEMA_H_
#define SERVICE_WEBHOOKS_PAYLOAD_SCHEMA_H_

#include <string>

namespace unified::webhooks {

// The schema, pretty-printed with a final newline.
std::string PayloadSchema();

}  // namespace unified::webhooks

#endif  // SERVICE_WEBHOOKS_PAYLOAD_SCHEMA_H_
