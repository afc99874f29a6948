// The SCIM simulator as a program. Prints "listening on <base URL>" and
// "token url <URL>" once it serves; stops on SIGINT/SIGTERM.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "tools/flags/help.h"
#include "tools/scim_sim/scim_sim.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0, "Port to listen on; 0 picks a free one.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the generated directory.");
ABSL_FLAG(int, users, 30, "Users to generate (at least 1).");
ABSL_FLAG(int, groups, 4, "Groups to generate (at least 1).");
ABSL_FLAG(int, max_results, 100,
          "Largest page answered (ServiceProviderConfig filter.maxResults).");
ABSL_FLAG(std::vector<std::string>, tokens, {"scim-demo-token"},
          "Static bearer tokens; the first acts as the first user (/Me).");
ABSL_FLAG(std::string, client_id, "scim-client",
          "Client id of the client credentials grant.");
ABSL_FLAG(std::string, client_secret, "scim-secret",
          "Client secret of the client credentials grant.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(1),
          "Lifetime of issued access tokens.");
ABSL_FLAG(int64_t, rate_limit, 1000, "Requests per token per window.");
ABSL_FLAG(absl::Duration, rate_window, absl::Hours(1), "Rate-limit window.");
// Variant shapes: the ways real providers answer differently (docs/scim.md,
// "Provider behaviours handled").
ABSL_FLAG(bool, ignore_start_index, false,
          "Answer every listing from its first record, echoing the startIndex "
          "asked.");
ABSL_FLAG(bool, no_me_route, false, "Answer 404 to /Me for any token.");
ABSL_FLAG(bool, ignore_filter, false,
          "Accept any filter and answer as if none.");
ABSL_FLAG(bool, no_groups_attribute, false,
          "Users carry no groups; a filter on groups.value answers 400.");
ABSL_FLAG(bool, cursor_paging, false,
          "Serve RFC 9865 cursor pagination too, advertised in "
          "ServiceProviderConfig.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("A SCIM 2.0 service provider simulator.");
  unified::tools::HelpListsFlagsUnder({"tools/scim_sim/"});
  absl::ParseCommandLine(argc, argv);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  unified::scim_sim::ScimSimOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.users = absl::GetFlag(FLAGS_users);
  options.groups = absl::GetFlag(FLAGS_groups);
  options.max_results = absl::GetFlag(FLAGS_max_results);
  options.tokens = absl::GetFlag(FLAGS_tokens);
  options.client_id = absl::GetFlag(FLAGS_client_id);
  options.client_secret = absl::GetFlag(FLAGS_client_secret);
  options.token_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.rate_limit = absl::GetFlag(FLAGS_rate_limit);
  options.rate_window = absl::GetFlag(FLAGS_rate_window);
  options.ignore_start_index = absl::GetFlag(FLAGS_ignore_start_index);
  options.no_me_route = absl::GetFlag(FLAGS_no_me_route);
  options.ignore_filter = absl::GetFlag(FLAGS_ignore_filter);
  options.no_groups_attribute = absl::GetFlag(FLAGS_no_groups_attribute);
  options.cursor_paging = absl::GetFlag(FLAGS_cursor_paging);
  if (options.users < 1 || options.groups < 1 || options.max_results < 1 ||
      options.rate_limit < 1) {
    std::fprintf(stderr,
                 "scim_sim: --users, --groups, --max_results and "
                 "--rate_limit must be at least 1\n");
    return 2;
  }
  auto sim = unified::scim_sim::ScimSimulator::Start(options);
  if (!sim.ok()) {
    std::fprintf(stderr, "scim_sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s\ntoken url %s\n", (*sim)->base_url().c_str(),
              (*sim)->token_url().c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  return 0;
}
