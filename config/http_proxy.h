// HttpProxy: how a site agent that may only go out through the hospital's HTTP proxy reaches
// the coordinator. The agent's gRPC channel then opens an HTTP CONNECT tunnel through the proxy
// and runs its mutual TLS inside it, end to end with the coordinator: the proxy sees the
// coordinator's address and encrypted bytes, never a certificate's key or a model.
//
// Settings come from the site file's `proxy:` mapping; where it has none, from the usual
// environment variables (https_proxy or HTTPS_PROXY, and no_proxy or NO_PROXY). Torch-free.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace fedxray {

class ConfigReader;

struct HttpProxyConfig {
  // http://host:port of the proxy; "none" = connect directly whatever the environment says;
  // empty = take https_proxy / HTTPS_PROXY from the environment.
  std::string url;
  // A file (mode 0600, not a link) holding "user:password" for the proxy's Basic
  // authentication. Empty: none (or the user information of an environment URL).
  std::string credentials_file;
  // Hosts reached directly: exact names or addresses, ".example.org" or "example.org" for a
  // domain and its sub-domains, "*" for all. Unset: no_proxy / NO_PROXY from the environment.
  std::vector<std::string> no_proxy;
  bool no_proxy_set = false;
};

// Reads `proxy:` (a mapping with url, credentials_file, no_proxy) of a site file.
HttpProxyConfig read_http_proxy_config(ConfigReader section);

// What the channel to `target` (host:port) does.
struct ProxyRoute {
  // For gRPC's grpc.http_proxy channel argument: "http://[user:password@]host:port", or empty
  // to connect directly.
  std::string grpc_proxy;
  // For logs and error messages, without the password: "directly" or "through the HTTP proxy
  // http://host:port (as user u)".
  std::string description;
};

using GetEnv = std::function<const char*(const char*)>;

// Decides the route and reads the credentials file. Throws ConfigError naming the setting (or
// the environment variable) and the fix for a URL gRPC cannot use (not http://, no port) or an
// unusable credentials file. `getenv` is injectable for tests.
ProxyRoute choose_proxy_route(const HttpProxyConfig& config, const std::string& target,
                              const GetEnv& getenv = GetEnv());

}  // namespace fedxray
