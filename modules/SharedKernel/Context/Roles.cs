namespace Monolith.SharedKernel.Context;

/// <summary>Tenant roles, highest first: owner &gt; admin &gt; member &gt; viewer.</summary>
public static class Roles
{
    public const string Owner = "owner";
    public const string Admin = "admin";
    public const string Member = "member";
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Owner, Admin, Member, Viewer];

    /// <summary>Rank of a role, higher is stronger; -1 for an unknown role.</summary>
    public static int Rank(string? role) => role switch
    {
        Owner => 3,
        Admin => 2,
        Member => 1,
        Viewer => 0,
        _ => -1,
    };

    public static bool IsValid(string? role) => Rank(role) >= 0;

    public static bool IsAtLeast(string? role, string required) => Rank(role) >= Rank(required) && Rank(role) >= 0;
}

/// <summary>Authorization policy names, one per minimum role. Every tenant endpoint names one.</summary>
public static class Policies
{
    public const string Viewer = "role:viewer";
    public const string Member = "role:member";
    public const string Admin = "role:admin";
    public const string Owner = "role:owner";
}
