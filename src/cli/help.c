/* --help, PLUGIN --help and --version texts (on stdout). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "registry.h"

#define WRAP_COLUMN 78

void cli_print_version(void)
{
    printf("memsift %s\n", MEMSIFT_VERSION);
}

void cli_print_usage(void)
{
    fputs("Usage: memsift -f IMAGE [-r FORMAT] [-o FILE] [-q] [-v] PLUGIN [PLUGIN OPTIONS]\n"
          "       memsift PLUGIN --help\n"
          "       memsift profiles import FILE [--build N] [--name NAME] [--force]\n"
          "       memsift profiles list [-r FORMAT]\n"
          "       memsift --help | --version\n"
          "\n"
          "Find network connections and their owners in Windows memory images.\n"
          "\n"
          "Options:\n"
          "  -f, --file IMAGE       memory image: raw, .vmem, Windows crash dump or LiME,\n"
          "                         optionally gzip-compressed (the format is detected)\n"
          "  -r, --renderer FORMAT  output format: text (default), json, jsonl or csv\n"
          "  -o, --output FILE      write the rows to FILE instead of standard output\n"
          "  -q, --quiet            hide warnings and the progress bar\n"
          "  -v, --verbose          also show informational and debug messages\n"
          "      --no-index-cache   do not save a gzip index (IMAGE.msidx) beside the image\n"
          "      --vmss FILE        VMware metadata (.vmss/.vmsn) for a .vmem; by default\n"
          "                         NAME.vmss or NAME.vmsn beside NAME.vmem is used\n"
          "      --no-vmss          read a .vmem flat, ignoring any .vmss/.vmsn beside it\n"
          "      --no-header-hints  ignore the crash-dump header's DTB and list heads; find them in memory\n"
          "      --dtb ADDR         use this page-table root (CR3) instead of discovering one\n"
          "      --kernel-base ADDR use this kernel base instead of discovering it\n"
          "      --profiles DIR     also load the profiles (*.prof) in DIR\n"
          "  -h, --help             show this help; 'memsift PLUGIN --help' for a plugin\n"
          "      --version          show the version\n"
          "\n"
          "Plugins:\n",
          stdout);
    size_t count;
    const ms_plugin *const *plugins = ms_registry_plugins(&count);
    for (size_t i = 0; i < count; i++)
        printf("  %-12s %s\n", plugins[i]->name, plugins[i]->summary ? plugins[i]->summary : "");
    fputs("\nVolatility 3 plugin names are accepted too (windows.info, windows.netscan, ...).\n", stdout);
}

/* Print `text` word-wrapped, each line starting with `indent` spaces. */
static void print_wrapped(const char *text, int indent)
{
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        size_t room = WRAP_COLUMN - (size_t)indent, len = strlen(p), cut = len;
        if (len > room) {
            cut = room;
            while (cut > 0 && p[cut] != ' ')
                cut--;
            if (cut == 0)
                cut = room;
        }
        printf("%*s%.*s\n", indent, "", (int)cut, p);
        p += cut;
    }
}

static const char *type_name(ms_value_type type)
{
    switch (type) {
    case MS_VT_INT: return "integer";
    case MS_VT_UINT: return "unsigned integer";
    case MS_VT_ADDR: return "address";
    case MS_VT_STR: return "string";
    case MS_VT_TIME: return "time (UTC)";
    case MS_VT_BOOL: return "boolean";
    }
    return "?";
}

void cli_print_plugin_help(const ms_plugin *plugin)
{
    printf("Usage: memsift -f IMAGE [-r FORMAT] [-o FILE] %s%s\n", plugin->name,
           plugin->noptions > 0 ? " [OPTIONS]" : "");
    if (plugin->aliases != NULL && plugin->aliases[0] != NULL) {
        fputs("Also named:", stdout);
        for (const char *const *a = plugin->aliases; *a != NULL; a++)
            printf(" %s", *a);
        fputc('\n', stdout);
    }
    fputc('\n', stdout);
    print_wrapped(plugin->summary ? plugin->summary : "", 0);
    if (plugin->description != NULL) {
        fputc('\n', stdout);
        print_wrapped(plugin->description, 0);
    }

    fputs("\nRequirements: ", stdout);
    if (plugin->requirements == 0)
        fputs("none (works on any image, including triage dumps)\n", stdout);
    else
        printf("%s%s%s\n", plugin->requirements & MS_PLUGIN_NEEDS_MEMORY ? "physical memory (not a triage dump)" : "",
               (plugin->requirements & MS_PLUGIN_NEEDS_MEMORY) && (plugin->requirements & MS_PLUGIN_NEEDS_X86)
                   ? ", "
                   : "",
               plugin->requirements & MS_PLUGIN_NEEDS_X86 ? "an x86 or x64 Windows system" : "");

    fputs("\nOptions:\n", stdout);
    if (plugin->noptions == 0)
        fputs("  (none)\n", stdout);
    for (size_t i = 0; i < plugin->noptions; i++) {
        const ms_option_spec *o = &plugin->options[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->type == MS_OPT_FLAG ? "" : " ",
                 o->type == MS_OPT_FLAG ? "" : (o->metavar ? o->metavar : "VALUE"));
        printf("  %-22s %s\n", left, o->help ? o->help : "");
    }
    fputs("  -h, --help             show this help\n", stdout);

    fputs("\nColumns:\n", stdout);
    if (plugin->ncolumns == 0)
        fputs("  (none declared)\n", stdout);
    for (size_t i = 0; i < plugin->ncolumns; i++)
        printf("  %-22s %s\n", plugin->columns[i].name, type_name(plugin->columns[i].type));
}
