// The Podio simulator as a program. Prints "listening on <base URL>" once it
// serves; stops on SIGINT/SIGTERM.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "tools/flags/help.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "Address to listen on.");
ABSL_FLAG(int, port, 0, "Port to listen on; 0 picks a free one.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: serve HTTPS (with --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert.");
ABSL_FLAG(int, threads, 128,
          "Connections served concurrently (each kept-alive connection holds "
          "one).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the generated directory.");
ABSL_FLAG(int, orgs, 2, "Organizations to generate.");
ABSL_FLAG(int, spaces_per_org, 3, "Spaces (workspaces) per organization.");
ABSL_FLAG(int, users, 50, "Users to generate (at least 2; up to 1,000,000).");
ABSL_FLAG(std::string, client_id, "demo-client", "The API key's client id.");
ABSL_FLAG(std::string, client_secret, "demo-secret",
          "The API key's client secret.");
ABSL_FLAG(std::string, redirect_host, "127.0.0.1",
          "Host that OAuth redirect_uri values must be on.");
ABSL_FLAG(absl::Duration, token_lifetime, absl::Hours(8),
          "Access token lifetime (simulated time).");
ABSL_FLAG(absl::Duration, refresh_lifetime, absl::Hours(24 * 28),
          "Refresh token lifetime (simulated time).");
ABSL_FLAG(int64_t, rate_limit, 1000, "Calls per window per user and client.");
ABSL_FLAG(int64_t, rate_limit_restricted, 250,
          "Calls per window of the 'rate limited' operations.");
ABSL_FLAG(int64_t, token_rate_limit, 100,
          "Token requests per window per client and principal (the token "
          "endpoint's own throttle).");
ABSL_FLAG(absl::Duration, rate_window, absl::Hours(1),
          "Rate-limit window (simulated time).");
ABSL_FLAG(bool, real_time_clock, false,
          "The simulated clock also moves with real time (for tests whose "
          "other processes keep real time); the admin API still advances "
          "it.");
ABSL_FLAG(
    std::string, rate_limited_routes,
    "GET /contact/,GET /contact/org/{org_id},GET /contact/space/{space_id}/",
    "Comma-separated routes counted as 'rate limited'.");
ABSL_FLAG(int, max_limit, 500, "Largest `limit` paged routes accept.");
ABSL_FLAG(int, limit_cap, 0,
          "Paged routes answer at most this many rows, whatever limit was "
          "asked, and say nothing (0: none).");
ABSL_FLAG(std::string, space_member_shape, "user",
          "Where space member v2 rows carry the profile: user (the docs), "
          "profile, or account_and_profile (the account under user).");
ABSL_FLAG(bool, rotate_refresh_tokens, false,
          "Each refresh issues a new refresh token and retires the old one.");
ABSL_FLAG(int64_t, unreadable_user, 0,
          "Member rows of this user id carry neither account nor profile (a "
          "null profile, as podio-rb fixed for): rows no client can read.");
ABSL_FLAG(bool, regular_mfa, false,
          "The regular principal signs in with a second factor: its password "
          "grant answers a server_nonce instead of tokens.");
ABSL_FLAG(bool, documented_fields, false,
          "Serve the fields the docs show that recorded real answers lack: "
          "member_count on organizations and spaces, created_on on "
          "organizations, archived on GET /space/{id} (docs/podio.md).");
ABSL_FLAG(std::string, user_password, "",
          "When set, every generated user (not only the two principals) "
          "logs in by the password grant with this password.");
ABSL_FLAG(bool, admin, false, "Serve the admin API under /_sim/.");
ABSL_FLAG(bool, consent_page, false,
          "Show a consent page (Allow / Deny) at /oauth/authorize instead of "
          "redirecting at once.");
ABSL_FLAG(std::string, faults, "",
          "Fault rules at start-up: a JSON array, or @FILE holding one.");
ABSL_FLAG(int, hook_attempts, 3,
          "Delivery attempts before a hook goes "
          "inactive.");
ABSL_FLAG(absl::Duration, hook_retry_delay, absl::Seconds(1),
          "Real time between delivery attempts.");
ABSL_FLAG(bool, hook_strict_ports, false,
          "Refuse hook URLs on ports other than 80 and 443, as Podio does.");

namespace unified::podio_sim {
namespace {

// The listener, the generated directory, OAuth and the rate limits.
SimulatorOptions BaseOptionsFromFlags() {
  SimulatorOptions options;
  options.host = absl::GetFlag(FLAGS_host);
  options.port = absl::GetFlag(FLAGS_port);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.data.seed = absl::GetFlag(FLAGS_seed);
  options.data.orgs = absl::GetFlag(FLAGS_orgs);
  options.data.spaces_per_org = absl::GetFlag(FLAGS_spaces_per_org);
  options.data.users = absl::GetFlag(FLAGS_users);
  options.oauth.client_id = absl::GetFlag(FLAGS_client_id);
  options.oauth.client_secret = absl::GetFlag(FLAGS_client_secret);
  options.oauth.redirect_host = absl::GetFlag(FLAGS_redirect_host);
  options.oauth.access_lifetime = absl::GetFlag(FLAGS_token_lifetime);
  options.oauth.refresh_lifetime = absl::GetFlag(FLAGS_refresh_lifetime);
  options.rate.limit = absl::GetFlag(FLAGS_rate_limit);
  options.rate.restricted_limit = absl::GetFlag(FLAGS_rate_limit_restricted);
  options.rate.token_limit = absl::GetFlag(FLAGS_token_rate_limit);
  options.rate.window = absl::GetFlag(FLAGS_rate_window);
  options.real_time_clock = absl::GetFlag(FLAGS_real_time_clock);
  options.restricted_routes.clear();
  for (absl::string_view route :
       absl::StrSplit(absl::GetFlag(FLAGS_rate_limited_routes), ',',
                      absl::SkipWhitespace())) {
    options.restricted_routes.insert(std::string(route));
  }
  return options;
}

// The whole configuration; INVALID_ARGUMENT naming the flag that is wrong.
absl::StatusOr<SimulatorOptions> OptionsFromFlags() {
  SimulatorOptions options = BaseOptionsFromFlags();
  options.max_limit = absl::GetFlag(FLAGS_max_limit);
  options.documented_fields = absl::GetFlag(FLAGS_documented_fields);
  options.oauth.rotate_refresh_tokens =
      absl::GetFlag(FLAGS_rotate_refresh_tokens);
  options.regular_mfa = absl::GetFlag(FLAGS_regular_mfa);
  options.limit_cap = absl::GetFlag(FLAGS_limit_cap);
  const std::string shape = absl::GetFlag(FLAGS_space_member_shape);
  if (shape == "profile") {
    options.space_member_shape = SpaceMemberShape::kProfile;
  } else if (shape == "account_and_profile") {
    options.space_member_shape = SpaceMemberShape::kAccountAndProfile;
  } else if (shape != "user") {
    return absl::InvalidArgumentError(
        "--space_member_shape: not user|profile|account_and_profile");
  }
  options.user_password = absl::GetFlag(FLAGS_user_password);
  options.admin_api = absl::GetFlag(FLAGS_admin);
  options.consent_page = absl::GetFlag(FLAGS_consent_page);
  options.hooks.max_attempts = absl::GetFlag(FLAGS_hook_attempts);
  options.hooks.retry_delay = absl::GetFlag(FLAGS_hook_retry_delay);
  options.hooks.strict_ports = absl::GetFlag(FLAGS_hook_strict_ports);
  if (options.data.users < 2 || options.data.users > 1000000 ||
      options.data.orgs < 1 || options.data.spaces_per_org < 1) {
    return absl::InvalidArgumentError(
        "need 2..1000000 users, >= 1 org and space");
  }

  std::string faults = absl::GetFlag(FLAGS_faults);
  if (!faults.empty() && faults[0] == '@') {
    std::ifstream in(faults.substr(1));
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", faults.substr(1)));
    }
    std::stringstream text;
    text << in.rdbuf();
    faults = text.str();
  }
  if (!faults.empty()) {
    absl::StatusOr<std::vector<FaultRule>> rules = ParseFaultRules(faults);
    if (!rules.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--faults: ", rules.status().message()));
    }
    options.faults = *rules;
  }

  return options;
}

}  // namespace
}  // namespace unified::podio_sim

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Podio API simulator.");
  unified::tools::HelpListsFlagsUnder({"tools/podio_sim/"});
  absl::ParseCommandLine(argc, argv);
  using namespace unified::podio_sim;

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<SimulatorOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    std::fprintf(stderr, "podio_sim: %s\n",
                 std::string(options.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Simulator>> sim = Simulator::Start(*options);
  if (!sim.ok()) {
    std::fprintf(stderr, "podio_sim: %s\n", sim.status().ToString().c_str());
    return 1;
  }
  (*sim)->SetUnreadableUser(absl::GetFlag(FLAGS_unreadable_user));
  std::printf("listening on %s\n", (*sim)->base_url().c_str());
  std::fflush(stdout);
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return 0;
}
