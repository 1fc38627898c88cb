/* PLACEHOLDERS for plugins not written yet.  Each entry reserves the
 * plugin's name, aliases and requirements so that the CLI lists it and
 * refuses it with a clear message.  When plugins/<name>.c lands and defines
 * ms_plugin_<name>, delete that entry here (the linker reports a duplicate
 * symbol until you do).  Delete this file with the last one. */
#include "registry.h"

#include "memsift/memsift.h"

static ms_status not_yet(ms_plugin_context *ctx)
{
    return ms_fail(MS_ERR_UNSUPPORTED, "%s is not available yet in memsift %s", ms_plugin_self(ctx)->name,
                   MEMSIFT_VERSION);
}

#define NEEDS_MEMORY_X86 (MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86)
#define PLANNED(id, summary_text, alias_list, req)                                                     \
    static const char *const id##_aliases[] = alias_list;                                              \
    const ms_plugin ms_plugin_##id = {#id, id##_aliases, summary_text " (not yet available)",          \
                                      "This plugin is planned but not written yet; running it fails.", \
                                      NULL, 0, NULL, 0, req, not_yet}
#define ALIASES(...) {__VA_ARGS__, NULL}

PLANNED(netscan, "Scan memory for connections and sockets",
        ALIASES("windows.netscan", "windows.netscan.NetScan"), NEEDS_MEMORY_X86);
PLANNED(netstat, "List connections and sockets from tcpip.sys",
        ALIASES("windows.netstat", "windows.netstat.NetStat"), NEEDS_MEMORY_X86);
