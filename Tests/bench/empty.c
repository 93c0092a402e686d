/* The small C program whose start-up `make bench` times. */
int main(void) { return 0; }
