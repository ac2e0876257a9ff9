// Worker process entry (placeholder until the worker runtime lands).
namespace minid {}
