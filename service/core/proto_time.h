// absl::Time as a google.protobuf.Timestamp, to the millisecond (what the
// store keeps), for every API answer that carries a time.
#ifndef SERVICE_CORE_PROTO_TIME_H_
#define SERVICE_CORE_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace unified {

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MillisecondsToTimestamp(
      absl::ToUnixMillis(t));
}

}  // namespace unified

#endif  // SERVICE_CORE_PROTO_TIME_H_
