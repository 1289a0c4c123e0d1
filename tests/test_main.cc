// The test runner: Catch2's session, with XDG_CACHE_HOME pointed at a throw-away folder so that
// nothing a test does (the de-identification cache defaults under it) lands in the user's home.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char* argv[]) {
  std::signal(SIGPIPE, SIG_IGN);  // as the fedxray executable does (cli/main.cc)
  std::string cache = (std::filesystem::temp_directory_path() / "fedxray-test-cache-XXXXXX").string();
  const bool made = ::mkdtemp(cache.data()) != nullptr;
  if (made) ::setenv("XDG_CACHE_HOME", cache.c_str(), 1);
  const int failed = Catch::Session().run(argc, argv);
  if (made) {
    std::error_code ignored;
    std::filesystem::remove_all(cache, ignored);
  }
  return failed;
}
