namespace Monolith.SharedKernel.Http;

/// <summary>
/// Endpoint metadata: the response stays open for as long as the client listens (a stream) and does no database work
/// of the request's own while it is open. Per-request bounds that assume a short request (the per-tenant concurrency
/// slot) leave such an endpoint alone; it must bound its own resources.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class LongLivedResponseAttribute : Attribute;
