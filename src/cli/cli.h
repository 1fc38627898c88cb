/* The memsift command-line shell: argument parsing, help, terminal sinks. */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "memsift/memsift.h"

#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

typedef struct cli_args {
    const char *image_path;
    const char *format_name;
    const char *output_path;
    int quiet;
    int verbose;
    int no_index_cache;
    int no_header_hints;
    const char *vmss_path;      /* --vmss FILE */
    int no_vmss;
    const char *dtb;            /* as typed; parsed in cli_run */
    const char *kernel_base;
    const char *profiles_dir;
    int show_help;
    int show_version;
    const ms_plugin *plugin;
    ms_option_value *options;   /* heap array; values point into argv */
    size_t noptions;
    const char *command;        /* "profiles": a command that needs no image */
    int command_argc;           /* the arguments after the command's name */
    char **command_argv;
} cli_args;

/* Parse argv.  Returns 0, or -1 with a one-line reason in `err`. */
int cli_parse_args(int argc, char **argv, cli_args *out, char *err, size_t errsize);
void cli_args_free(cli_args *args);

void cli_print_usage(void);
void cli_print_plugin_help(const ms_plugin *plugin);
void cli_print_version(void);

/* Messages and the progress bar share stderr; a message first erases the bar. */
typedef struct cli_term {
    int quiet;
    int verbose;
    int progress_enabled;    /* stderr is a terminal and not quiet */
    const char *label;
    size_t bar_len;          /* characters of the bar on screen, 0 if none */
    uint64_t last_draw_ms;
} cli_term;

void cli_term_init(cli_term *t, int quiet, int verbose, const char *label);
void cli_log(void *user, ms_log_level level, const char *message);
void cli_progress(void *user, uint64_t done, uint64_t total);
void cli_progress_clear(cli_term *t);

/* "memsift: <message>" on one line of stderr, control characters replaced. */
void cli_print_error(const char *message);

/* memsift profiles import|list ...; returns the exit code. */
int cli_profiles_main(const cli_args *args);

/* Open the image, run the plugin, write its rows; returns the exit code. */
int cli_run(const cli_args *args, cli_term *term);

#endif
