#ifndef DISKCOLLECTIONS_CCHECKSUM_H
#define DISKCOLLECTIONS_CCHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as iSCSI, ext4 and RocksDB use it) of
/// `length` bytes at `data`, continuing from `crc` (0 to start). CRC-32C of "123456789" is 0xE3069283.
/// Uses the SSE4.2 crc32 instruction where the processor has it, else a table.
uint32_t diskcollections_crc32c(uint32_t crc, const void *data, size_t length);

#endif
