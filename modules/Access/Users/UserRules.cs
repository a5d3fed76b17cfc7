using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Validation;

namespace Monolith.Access.Users;

/// <summary>
/// Who may do what to whom (CONTRACT §3), as pure functions: admins and owners manage users; a user of a
/// higher role than the actor's (an owner, for an admin) is out of reach; nobody grants above their own
/// role; the last active owner stays an active owner.
/// </summary>
internal static class UserRules
{
    /// <summary>May an actor of this role change or remove a user who has the target role?</summary>
    public static bool CanManage(string actorRole, string targetRole) =>
        Roles.IsAtLeast(actorRole, Roles.Admin) && Roles.Rank(actorRole) >= Roles.Rank(targetRole);

    /// <summary>May an actor of this role give someone the new role?</summary>
    public static bool CanGrant(string actorRole, string newRole) =>
        Roles.IsAtLeast(actorRole, Roles.Admin) && Roles.IsValid(newRole) && Roles.Rank(newRole) <= Roles.Rank(actorRole);

    /// <summary>Would the change leave the tenant without an active owner?</summary>
    public static bool RemovesLastOwner(IReadOnlyCollection<Guid> activeOwners, Guid target, bool staysActiveOwner) =>
        !staysActiveOwner && activeOwners.Count == 1 && activeOwners.Contains(target);

    public static string? ValidateEmail(string? email, string field = "email")
    {
        if (string.IsNullOrWhiteSpace(email))
        {
            return $"{field} is required.";
        }

        // Surrounding spaces are forgiven (the address is stored trimmed); the rule is the one every module uses.
        return EmailAddresses.IsValid(email.Trim()) ? null : EmailAddresses.Message(field);
    }

    public static string? ValidateName(string? name) =>
        string.IsNullOrWhiteSpace(name) || name.Trim().Length > 200 ? "name is required and must be at most 200 characters long." : null;

    /// <summary>A name for a user who gave none: the address's local part (or <paramref name="fallback"/> when it does not fit).</summary>
    public static string NameFromEmail(string email, string fallback)
    {
        var at = email.IndexOf('@', StringComparison.Ordinal);
        var local = at > 0 ? email[..at] : email;
        return local.Length is > 0 and <= 200 ? local : fallback;
    }

    public static string? ValidateRole(string? role) =>
        Roles.IsValid(role) ? null : $"role must be one of: {string.Join(", ", Roles.All)}.";
}
