#ifndef COUNTERSIGN_CBLAS_SHIM_H
#define COUNTERSIGN_CBLAS_SHIM_H
#include <cblas.h>
#endif
