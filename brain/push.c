/*
 * Managed scripts to the tentacles (issue 14): what each one lacks or has
 * stale, from its keepalive's inventory, pushed through the commander.
 */
#include "maestro.h"

void
push_soon(void)
{
}
