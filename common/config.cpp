// Placeholder until the config parser lands.
namespace minid {}
