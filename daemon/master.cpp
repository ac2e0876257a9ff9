// Master process (placeholder until it lands).
namespace minid {}
