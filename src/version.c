/*
 * version.c: the library version string.
 */
#include "config.h"

#include "hypha.h"

const char *
hy_version(void)
{
	return PACKAGE_VERSION;
}
