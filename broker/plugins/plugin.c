/* SPDX-License-Identifier: MIT */
/*
 * The table of built-in callback plugins and lookups in it; see plugin.h.
 * Each plugin's keys, validate and deliver live in its own file; adding a
 * plugin is adding that file and one line here.
 */
#include <string.h>

#include "external.h"
#include "plugin.h"

const struct plugin_desc *const plugin_builtin[] = {
	&plugin_http, &plugin_exec, &plugin_nng, &plugin_file, NULL,
};

const struct plugin_desc *
plugin_find(const char *name)
{
	for (size_t i = 0; plugin_builtin[i] != NULL; i++)
		if (strcmp(plugin_builtin[i]->name, name) == 0)
			return plugin_builtin[i];
	return plugin_ext_find(name);
}

const struct plugin_key *
plugin_key_find(const struct plugin_desc *d, const char *name, size_t len)
{
	for (const struct plugin_key *k = d->keys; k->name != NULL; k++)
		if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
			return k;
	return NULL;
}
