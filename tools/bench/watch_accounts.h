// What the watch benchmarks (watch_scale, watch_cluster) do to many
// accounts: link each simulated user and take its watch's baseline, many at
// a time.
#ifndef TOOLS_BENCH_WATCH_ACCOUNTS_H_
#define TOOLS_BENCH_WATCH_ACCOUNTS_H_

#include <functional>
#include <string>
#include <vector>

namespace unified::bench {

// The mail of generated user `user` in a directory of `orgs` organizations
// (tools/podio_sim/directory.cc): user<user>@org<k>.example.com.
std::string SimUserMail(int user, int orgs);

// Runs `job(i)` for i in [0, n) on `threads` threads.
void Parallel(int n, int threads, const std::function<void(int)>& job);

// Links the simulated user `mail` by the password grant under `api_key` at
// `address`; the account id, "" on failure.
std::string Link(const std::string& address, const std::string& api_key,
                 const std::string& mail, const std::string& password);

// Link(), then takes the account's watch baseline (a WatchDirectory with a
// snapshot, read to SNAPSHOT_COMPLETE); the account id, "" on failure.
std::string LinkAndWatch(const std::string& address, const std::string& api_key,
                         const std::string& mail, const std::string& password);

// The `q` quantile of `sorted`; -1 when it is empty.
double Quantile(const std::vector<double>& sorted, double q);

}  // namespace unified::bench

#endif  // TOOLS_BENCH_WATCH_ACCOUNTS_H_
