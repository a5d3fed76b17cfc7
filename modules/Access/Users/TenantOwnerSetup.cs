using Microsoft.EntityFrameworkCore;
using Monolith.Access.Data;
using Monolith.Access.Passwords;
using Monolith.Access.Sessions;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Validation;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Provisioning;

namespace Monolith.Access.Users;

/// <summary>
/// A new tenant's first owner (POST /platform/tenants, <c>tenants create</c>). Runs inside the new tenant's
/// context. Idempotent for an e-mail that already exists: that user becomes an active owner again, with the
/// given password (or a new generated one), and its sessions end. The owner's address counts as verified: the
/// operator who provisions the tenant vouches for it (and require-verified-email must never lock out the only owner).
/// </summary>
internal sealed class TenantOwnerSetup(AccessDatabase database, UserPasswords passwords) : ITenantOwnerSetup
{
    public IDictionary<string, string[]> Validate(string? email, string? password)
    {
        var errors = new ValidationErrors();
        if (UserRules.ValidateEmail(email, "ownerEmail") is { } emailError)
        {
            errors.Add("ownerEmail", emailError);
        }

        if (password is not null && UserPasswords.Validate(password, email, "ownerPassword") is { } passwordError)
        {
            errors.Add("ownerPassword", passwordError);
        }

        return errors.ToDictionary();
    }

    public async Task<TenantOwner> PrepareAsync(string email, string? password, CancellationToken ct)
    {
        var generated = password is null ? UserPasswords.Generate() : null;
        return new TenantOwner(email.Trim(), await passwords.HashAsync(password ?? generated!, ct), generated);
    }

    public async Task CreateOwnerAsync(TenantOwner owner, CancellationToken ct)
    {
        var trimmed = owner.Email;
        await using var unit = await database.BeginAsync(ct);
        // An upsert on the address (ON CONFLICT on lower(email)), which EF cannot say.
        var (id, name) = (Guid.CreateVersion7(), UserRules.NameFromEmail(trimmed, "Owner"));
        var userId = (await unit.Db.Database.SqlQuery<Guid>(
            $"""
             INSERT INTO users (id, email, name, role, password_hash, email_verified) VALUES ({id}, {trimmed}, {name}, {Roles.Owner}, {owner.PasswordHash}, true)
             ON CONFLICT ((lower(email))) DO UPDATE SET
                 role = excluded.role, status = 'active', password_hash = excluded.password_hash, email_verified = true,
                 failed_login_count = 0, failed_login_since = NULL, version = users.version + 1, updated_at = now()
             RETURNING id AS "Value"
             """).FirstOrNullValueAsync(ct))!.Value;

        // An existing user got a new password: its sessions end, and its address may try again at once.
        await unit.Db.EndAllSessionsAsync(userId, SessionEndReasons.Password, ct);
        await Auth.LoginAttempts.ResetAsync(unit.Db, trimmed, ct);
        await unit.CommitAsync(ct);
    }
}
