// minid entry point (placeholder until the master lands).
int main() { return 0; }
