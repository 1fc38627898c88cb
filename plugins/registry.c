#include "registry.h"

#include <string.h>

static const ms_plugin *const plugins[] = {
    &ms_plugin_info,     &ms_plugin_pslist,  &ms_plugin_modules, &ms_plugin_netscan,  &ms_plugin_netstat,
    &ms_plugin_connscan, &ms_plugin_connections, &ms_plugin_sockets, &ms_plugin_sockscan, &ms_plugin_yarascan,
};

const ms_plugin *const *ms_registry_plugins(size_t *count)
{
    *count = sizeof plugins / sizeof plugins[0];
    return plugins;
}

const ms_plugin *ms_registry_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        const ms_plugin *p = plugins[i];
        if (strcmp(p->name, name) == 0)
            return p;
        for (const char *const *a = p->aliases; a != NULL && *a != NULL; a++)
            if (strcmp(*a, name) == 0)
                return p;
    }
    return NULL;
}
