/*
 * An empty preload library: what any LD_PRELOAD costs a program (the
 * dynamic linker's search, mapping and relocating one more object), the
 * floor under every preload library's column in `make bench`.
 */
int netbench_empty_preload;
