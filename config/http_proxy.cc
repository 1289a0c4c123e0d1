#include "config/http_proxy.h"

#include <cctype>
#include <cstdlib>

#include "base/error.h"
#include "base/private_file.h"
#include "config/config_reader.h"

namespace fedxray {
namespace {

// "host:port" of an http:// proxy URL (a trailing "/" allowed), or a reason it is unusable.
// User information ("user:password@") is split off into `userinfo`.
std::string proxy_authority(const std::string& url, std::string& userinfo, std::string& problem) {
  const std::string scheme = "http://";
  if (url.rfind("https://", 0) == 0) {
    problem =
        "a proxy reached over TLS (https://) is not supported; give its http:// address "
        "(the connection to the coordinator stays TLS inside the tunnel)";
    return "";
  }
  if (url.rfind(scheme, 0) != 0) {
    problem = "must be http://host:port (got \"" + url + "\")";
    return "";
  }
  std::string authority = url.substr(scheme.size());
  if (!authority.empty() && authority.back() == '/') authority.pop_back();
  const std::size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  const std::size_t colon = authority.rfind(':');
  if (authority.empty() || authority.find('/') != std::string::npos || colon == std::string::npos ||
      colon + 1 == authority.size() || colon == 0) {
    problem = "must be http://host:port with the port (got \"" + url + "\")";
    return "";
  }
  for (std::size_t i = colon + 1; i < authority.size(); ++i) {
    if (authority[i] < '0' || authority[i] > '9') {
      problem = "the port must be a number (got \"" + url + "\")";
      return "";
    }
  }
  return authority;
}

// gRPC takes the credentials as the URL's user information, split at '@' and not decoded, so
// characters that would change how the URL reads are refused rather than escaped.
void check_userinfo(const std::string& userinfo, const std::string& where) {
  const std::size_t colon = userinfo.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw ConfigError(where + ": proxy credentials must read user:password");
  }
  for (const char c : userinfo) {
    if (c <= ' ' || c == 0x7f || std::string("@/?#%[]\\").find(c) != std::string::npos) {
      throw ConfigError(where +
                        ": proxy credentials may not contain white space or any of @ / ? # % "
                        "[ ] \\ (gRPC passes them inside the proxy URL); ask for a password "
                        "without them");
    }
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string host_of(const std::string& target) {
  std::string host = target;
  if (!host.empty() && host.front() == '[') {  // [::1]:50051
    const std::size_t close = host.find(']');
    return close == std::string::npos ? host : host.substr(1, close - 1);
  }
  const std::size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(':') == colon) host = host.substr(0, colon);
  return lower(host);
}

bool bypasses_proxy(const std::string& host, const std::vector<std::string>& no_proxy) {
  for (std::string entry : no_proxy) {
    entry = lower(entry);
    while (!entry.empty() && entry.back() == ' ') entry.pop_back();
    while (!entry.empty() && entry.front() == ' ') entry.erase(entry.begin());
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.front() == '.') entry.erase(entry.begin());
    if (host == entry) return true;
    if (host.size() > entry.size() &&
        host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= s.size()) {
    std::size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

const char* first_env(const GetEnv& getenv, const char* a, const char* b, std::string& which) {
  for (const char* name : {a, b}) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') {
      which = name;
      return v;
    }
  }
  return nullptr;
}

}  // namespace

HttpProxyConfig read_http_proxy_config(ConfigReader r) {
  HttpProxyConfig c;
  c.url = r.string("url", std::string());
  if (!c.url.empty() && c.url != "none") {
    std::string userinfo;
    std::string problem;
    if (proxy_authority(c.url, userinfo, problem).empty()) r.fail("url", problem);
    if (!userinfo.empty()) {
      r.fail("url",
             "put the proxy's user and password in credentials_file (mode 0600), not in "
             "the URL");
    }
  }
  c.credentials_file = r.path("credentials_file", std::string());
  if (!c.credentials_file.empty() && c.url == "none") {
    r.fail("credentials_file", "is set but url is none (no proxy); remove one of them");
  }
  c.no_proxy_set = r.has("no_proxy");
  c.no_proxy = r.string_list("no_proxy", std::vector<std::string>());
  r.finish();
  return c;
}

ProxyRoute choose_proxy_route(const HttpProxyConfig& config, const std::string& target,
                              const GetEnv& getenv_or_empty) {
  const GetEnv getenv = getenv_or_empty
                            ? getenv_or_empty
                            : GetEnv([](const char* name) { return std::getenv(name); });
  ProxyRoute direct{"", "directly"};
  if (config.url == "none") return direct;
  std::string url = config.url;
  std::string source = "site.proxy.url";
  if (url.empty()) {
    std::string which;
    const char* value = first_env(getenv, "https_proxy", "HTTPS_PROXY", which);
    if (value == nullptr) return direct;
    url = value;
    source = "the environment variable " + which;
    if (url.find("://") == std::string::npos) url = "http://" + url;  // "proxy:3128", as curl
  }
  std::vector<std::string> no_proxy = config.no_proxy;
  if (!config.no_proxy_set) {
    std::string which;
    const char* value = first_env(getenv, "no_proxy", "NO_PROXY", which);
    if (value != nullptr) no_proxy = split_commas(value);
  }
  if (bypasses_proxy(host_of(target), no_proxy)) {
    direct.description = "directly (" + host_of(target) + " is in no_proxy)";
    return direct;
  }
  std::string userinfo;
  std::string problem;
  const std::string authority = proxy_authority(url, userinfo, problem);
  if (authority.empty()) throw ConfigError(source + " " + problem);
  if (!userinfo.empty()) check_userinfo(userinfo, source);
  if (!config.credentials_file.empty()) {
    userinfo = read_private_credential(config.credentials_file, "proxy credential",
                                       "site.proxy.credentials_file");
    check_userinfo(userinfo, "site.proxy.credentials_file " + config.credentials_file);
  }
  ProxyRoute route;
  route.grpc_proxy = "http://" + (userinfo.empty() ? "" : userinfo + "@") + authority;
  route.description = "through the HTTP proxy http://" + authority;
  if (!userinfo.empty()) {
    route.description += " (as user " + userinfo.substr(0, userinfo.find(':')) + ")";
  }
  return route;
}

}  // namespace fedxray
