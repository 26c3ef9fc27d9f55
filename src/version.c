/*
 * version.c: the library version. Kept in libhypha.la itself (not the
 * convenience library) so the shared object always has one source of its own.
 */
#include "config.h"

#include "hypha.h"

const char *
hy_version(void)
{
	return PACKAGE_VERSION;
}
