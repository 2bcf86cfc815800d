#ifndef DISKCOLLECTIONS_CLMDB_SHIM_H
#define DISKCOLLECTIONS_CLMDB_SHIM_H
// The system LMDB header (Debian: liblmdb-dev). Nothing else: the safe wrapper lives in the LMDB target.
#include <lmdb.h>
#endif
