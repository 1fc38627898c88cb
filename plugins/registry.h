/* The plugins a host offers: the CLI's table, looked up by name or by
 * alias (Volatility 3's names). */
#ifndef MEMSIFT_PLUGINS_REGISTRY_H
#define MEMSIFT_PLUGINS_REGISTRY_H

#include <stddef.h>

#include "memsift/plugin.h"

/* Each plugin's definition, in plugins/<name>.c (or plugins/planned.c
 * until it is written). */
extern const ms_plugin ms_plugin_info;
extern const ms_plugin ms_plugin_pslist;
extern const ms_plugin ms_plugin_modules;
extern const ms_plugin ms_plugin_netscan;
extern const ms_plugin ms_plugin_netstat;
extern const ms_plugin ms_plugin_connscan;
extern const ms_plugin ms_plugin_connections;
extern const ms_plugin ms_plugin_sockets;
extern const ms_plugin ms_plugin_sockscan;
extern const ms_plugin ms_plugin_yarascan;

/* All plugins, in the order --help lists them. */
const ms_plugin *const *ms_registry_plugins(size_t *count);

/* The plugin named `name` or having it as an alias; NULL if none. */
const ms_plugin *ms_registry_find(const char *name);

#endif
