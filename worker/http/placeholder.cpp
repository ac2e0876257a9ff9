// Placeholder so the library has a source until the HTTP layer lands.
namespace minid::http {}
