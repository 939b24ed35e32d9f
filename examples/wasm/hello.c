/*
 * hello.c: the smallest WASI command. Prints "Hello, world!", then "arg: X" for each argument
 * after argv[0], one per line.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    int i;

    printf("Hello, world!\n");
    for (i = 1; i < argc; i++)
        printf("arg: %s\n", argv[i]);
    return 0;
}
