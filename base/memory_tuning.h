// Allocator tuning for processes that move whole models around.
//
// fedxray allocates and frees model-sized buffers (tens of MiB to GiB) and 1 MiB chunks every
// round. With glibc's defaults each large buffer is a fresh mmap, so every round pays a page
// fault per 4 KiB again — on a 2-core VM that was most of a round's time (bench/round_overhead:
// 4.6 s -> 2.0 s per round at 10 sites x 11.2M parameters). Keeping large buffers in the heap
// and limiting arenas lets rounds reuse memory that is already mapped. The cost: freed memory is
// kept for reuse rather than returned to the OS, so RSS stays at its peak.
#pragma once

namespace fedxray {

// Call once, first thing in main(), before other threads start.
void keep_model_buffers_mapped();

}  // namespace fedxray
