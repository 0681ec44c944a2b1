package dev.tensorloom.bindings;

/** What {@code tl_memory_in_use} reports: bytes held by live buffers of one library, and how many buffers. */
public record MemoryInUse(long bytes, long buffers) {
}
