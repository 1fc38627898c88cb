/* memsift -f IMAGE [-r FORMAT] [-o FILE] [-q] [-v] PLUGIN [plugin options] */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
    cli_args args;
    char err[512];
    if (cli_parse_args(argc, argv, &args, err, sizeof err) != 0) {
        cli_print_error(err);
        return CLI_EXIT_USAGE;
    }
    int code = 0;
    if (args.command != NULL) {
        code = cli_profiles_main(&args);
    } else if (args.show_version) {
        cli_print_version();
    } else if (args.show_help) {
        if (args.plugin != NULL)
            cli_print_plugin_help(args.plugin);
        else
            cli_print_usage();
    } else if (args.plugin == NULL) {
        cli_print_error("no plugin given: try 'memsift --help'");
        code = CLI_EXIT_USAGE;
    } else if (args.image_path == NULL) {
        cli_print_error("no image given: use -f IMAGE");
        code = CLI_EXIT_USAGE;
    } else {
        cli_term term;
        cli_term_init(&term, args.quiet, args.verbose, args.plugin->name);
        code = cli_run(&args, &term);
    }
    if (code == 0 && fflush(stdout) != 0) {
        cli_print_error("cannot write to standard output");
        code = CLI_EXIT_FAILURE;
    }
    cli_args_free(&args);
    return code;
}
