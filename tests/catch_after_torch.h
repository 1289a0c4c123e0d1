// Include this instead of <catch2/catch.hpp> in test files that use LibTorch, after the torch
// headers: LibTorch pulls in glog, whose CHECK macros would otherwise replace Catch's.
#pragma once

#ifdef CHECK
#undef CHECK
#undef CHECK_FALSE
#undef CHECK_THAT
#endif
#include <catch2/catch.hpp>
