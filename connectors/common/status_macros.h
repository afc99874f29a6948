// Small status helpers missing from Debian's Abseil 20220623.
#ifndef CONNECTORS_COMMON_STATUS_MACROS_H_
#define CONNECTORS_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::absl::Status status_macros_status_ = (expr); \
    if (!status_macros_status_.ok()) {             \
      return status_macros_status_;                \
    }                                              \
  } while (false)

#define STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define STATUS_MACROS_CONCAT_(a, b) STATUS_MACROS_CONCAT_INNER_(a, b)

// `ASSIGN_OR_RETURN(T x, Expr());` or `ASSIGN_OR_RETURN(x, Expr());`: evaluates
// an absl::StatusOr<T>, returns its status when not OK, else moves the value
// into the left-hand side.
#define ASSIGN_OR_RETURN(lhs, rexpr)                                       \
  ASSIGN_OR_RETURN_IMPL_(STATUS_MACROS_CONCAT_(status_or_, __LINE__), lhs, \
                         rexpr)

#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                           \
  if (!statusor.ok()) {                              \
    return std::move(statusor).status();             \
  }                                                  \
  lhs = std::move(statusor).value()

#endif  // CONNECTORS_COMMON_STATUS_MACROS_H_
