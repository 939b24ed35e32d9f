/* A WASI command that exits with the status its first argument names (default 0), after one
 * line of output: for testing that `sporadic emit` exits with the module's exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 0;
    printf("status: exiting with %d\n", status);
    return status;
}
