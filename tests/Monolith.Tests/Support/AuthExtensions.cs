namespace Monolith.Tests.Support;

/// <summary>
/// Signs a test client in. Until the Access module provides tokens this is a no-op, so tests written against
/// tenant endpoints keep their shape when authentication arrives.
/// </summary>
public static class AuthExtensions
{
    public static Task AuthorizeAsOwnerAsync(this HttpClient client, MonolithFixture fixture, string tenant)
    {
        _ = client;
        _ = fixture;
        _ = tenant;
        return Task.CompletedTask;
    }
}
