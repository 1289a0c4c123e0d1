// The route a site agent takes to the coordinator: its site file's `proxy:` mapping, else the
// environment's https_proxy / no_proxy; every mistake names the key (or variable) and the fix.
// The tunnel itself is tested with a real tinyproxy in tests/proxy_process_test.cc.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <map>

#include "base/atomic_file.h"
#include "base/error.h"
#include "config/config_reader.h"
#include "config/http_proxy.h"
#include "config/site_config.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

GetEnv environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

const GetEnv kNoEnvironment = environment({});

std::string route_error(const HttpProxyConfig& config, const GetEnv& env = kNoEnvironment) {
  try {
    choose_proxy_route(config, "coordinator.example.org:50051", env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

std::string proxy_section_error(const std::string& yaml) {
  try {
    ConfigReader root = ConfigReader::load_string(yaml, "site.yaml");
    read_http_proxy_config(root.section("proxy"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("without a proxy setting or variable the agent connects directly", "[proxy]") {
  const ProxyRoute route = choose_proxy_route({}, "coordinator.example.org:50051", kNoEnvironment);
  CHECK(route.grpc_proxy.empty());
  CHECK(route.description == "directly");
}

TEST_CASE("the site file's proxy wins over the environment and none turns it off", "[proxy]") {
  const GetEnv env = environment({{"https_proxy", "http://env-proxy:8080"}});
  HttpProxyConfig config;
  config.url = "http://proxy.hospital.local:3128/";
  ProxyRoute route = choose_proxy_route(config, "coordinator.example.org:50051", env);
  CHECK(route.grpc_proxy == "http://proxy.hospital.local:3128");
  CHECK(route.description == "through the HTTP proxy http://proxy.hospital.local:3128");
  config.url = "none";
  route = choose_proxy_route(config, "coordinator.example.org:50051", env);
  CHECK(route.grpc_proxy.empty());
}

TEST_CASE("https_proxy and HTTPS_PROXY are read, a bare host:port taken as http", "[proxy]") {
  CHECK(choose_proxy_route({}, "c.example.org:1", environment({{"HTTPS_PROXY", "p:3128"}}))
            .grpc_proxy == "http://p:3128");
  CHECK(choose_proxy_route(
            {}, "c.example.org:1",
            environment({{"https_proxy", "http://u:pw@p:1"}, {"HTTPS_PROXY", "http://q:2"}}))
            .grpc_proxy == "http://u:pw@p:1");
  // http_proxy is for plain http; the agent's traffic is TLS
  CHECK(choose_proxy_route({}, "c.example.org:1", environment({{"http_proxy", "http://p:1"}}))
            .grpc_proxy.empty());
}

TEST_CASE("no_proxy matches exact hosts, domains and sub-domains, and star", "[proxy]") {
  const auto via = [](const std::string& no_proxy, const std::string& target) {
    return !choose_proxy_route(
                {}, target, environment({{"https_proxy", "http://p:3128"}, {"no_proxy", no_proxy}}))
                .grpc_proxy.empty();
  };
  CHECK_FALSE(via("localhost, 127.0.0.1", "127.0.0.1:50051"));
  CHECK(via("localhost,127.0.0.2", "127.0.0.1:50051"));
  CHECK_FALSE(via(".example.org", "coordinator.example.org:50051"));
  CHECK_FALSE(via("example.org", "coordinator.example.org:50051"));
  CHECK_FALSE(via("EXAMPLE.org", "example.org:50051"));
  CHECK(via("example.org", "coordinator.badexample.org:50051"));
  CHECK_FALSE(via("*", "anything:1"));
  CHECK_FALSE(via("::1", "[::1]:50051"));
  // the site file's own list replaces the variable, even when it is empty
  HttpProxyConfig config;
  config.url = "http://p:3128";
  config.no_proxy_set = true;
  CHECK_FALSE(choose_proxy_route(config, "127.0.0.1:1", environment({{"no_proxy", "127.0.0.1"}}))
                  .grpc_proxy.empty());
  config.no_proxy = {"127.0.0.1"};
  const ProxyRoute direct = choose_proxy_route(config, "127.0.0.1:1", kNoEnvironment);
  CHECK(direct.grpc_proxy.empty());
  CHECK(direct.description == "directly (127.0.0.1 is in no_proxy)");
}

TEST_CASE("proxy credentials come from a private file and never show in the description",
          "[proxy]") {
  testing::TempDir dir;
  const std::string file = dir.path + "/proxy.credentials";
  write_file_atomically(file, "fedxray:s3cret-pw\n", 0600);
  HttpProxyConfig config;
  config.url = "http://127.0.0.1:3128";
  config.credentials_file = file;
  const ProxyRoute route = choose_proxy_route(config, "c.example.org:1", kNoEnvironment);
  CHECK(route.grpc_proxy == "http://fedxray:s3cret-pw@127.0.0.1:3128");
  CHECK(route.description == "through the HTTP proxy http://127.0.0.1:3128 (as user fedxray)");
  CHECK(route.description.find("s3cret") == std::string::npos);

  ::chmod(file.c_str(), 0644);
  CHECK_THAT(route_error(config),
             Catch::Contains("site.proxy.credentials_file") && Catch::Contains("chmod 600"));
  write_file_atomically(file, "fedxray:p@ss\n", 0600);
  CHECK_THAT(route_error(config), Catch::Contains("may not contain") && Catch::Contains("@"));
  write_file_atomically(file, "just-a-password\n", 0600);
  CHECK_THAT(route_error(config), Catch::Contains("user:password"));
  config.credentials_file = dir.path + "/missing";
  CHECK_THAT(route_error(config), Catch::Contains("cannot open") && Catch::Contains("missing"));
}

TEST_CASE("proxy URLs gRPC cannot use are refused naming where they came from", "[proxy]") {
  CHECK_THAT(route_error({}, environment({{"https_proxy", "https://p:3128"}})),
             Catch::Contains("https_proxy") && Catch::Contains("over TLS"));
  CHECK_THAT(route_error({}, environment({{"HTTPS_PROXY", "http://p"}})),
             Catch::Contains("HTTPS_PROXY") && Catch::Contains("with the port"));
  CHECK_THAT(route_error({}, environment({{"https_proxy", "socks5://p:1080"}})),
             Catch::Contains("must be http://host:port"));
  CHECK_THAT(proxy_section_error("proxy:\n  url: proxy.local:3128\n"),
             Catch::Contains("site.yaml:2") && Catch::Contains("proxy.url") &&
                 Catch::Contains("http://host:port"));
  CHECK_THAT(proxy_section_error("proxy:\n  url: http://u:p@proxy.local:3128\n"),
             Catch::Contains("credentials_file"));
  CHECK_THAT(proxy_section_error("proxy:\n  url: none\n  credentials_file: c\n"),
             Catch::Contains("url is none"));
  CHECK_THAT(proxy_section_error("proxy:\n  url: http://p:1\n  user: x\n"),
             Catch::Contains("proxy.user"));
  CHECK(proxy_section_error("proxy:\n  url: http://p:1\n  no_proxy: [a, .b]\n") == "no error");
}
