#include "base/memory_tuning.h"

#include <malloc.h>

namespace fedxray {

void keep_model_buffers_mapped() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);         // buffers up to 1 GiB come from the heap
  mallopt(M_TRIM_THRESHOLD, 0x7fffffff);      // and are kept there for the next round
  mallopt(M_ARENA_MAX, 2);                    // few arenas: 1 MiB chunks freed by one RPC
                                              // thread are reused by the next
}

}  // namespace fedxray
