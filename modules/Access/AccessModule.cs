using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Monolith.Access.Auth;
using Monolith.Access.Authorization;
using Monolith.Access.Data;
using Monolith.Access.Invitations;
using Monolith.Access.Mail;
using Monolith.Access.Me;
using Monolith.Access.Passwords;
using Monolith.Access.RateLimiting;
using Monolith.Access.Sessions;
using Monolith.Access.Tokens;
using Monolith.Access.Users;
using Monolith.Access.Verification;
using Monolith.SharedKernel.Context;
using Monolith.SharedKernel.Http.OpenApi;
using Monolith.Tenancy;
using Monolith.Tenancy.Contracts;
using Monolith.Tenancy.Isolation;
using Monolith.Tenancy.Notifications;
using Monolith.Tenancy.Placement;
using Monolith.Tenancy.Provisioning;
using Monolith.Tenancy.Resolution;

namespace Monolith.Access;

public static class AccessModule
{
    /// <summary>Access's meter: mail outcomes (<c>monolith.mail.outcomes</c>) and the outboxes' gauges (<c>monolith.mail.outbox.*</c>).</summary>
    public const string MeterName = "Monolith.Access";

    /// <summary>
    /// Bearer authentication, the role policies, the rate limits, users and the tenant owner setup. The signing key's
    /// Production rules are the host's start-up validation (<see cref="SharedKernel.Secrets.StartupSecrets"/>).
    /// </summary>
    public static IHostApplicationBuilder AddAccess(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddAccessCore(builder.Configuration);
        services.AddMailDelivery(builder.Configuration);
        services.AddSingleton<SigningKeys>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<IConfigureOptions<JwtBearerOptions>, BearerSetup>();
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddAuthorization(RolePolicies.Add);
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, UnroutedRequests>();
        AccessRateLimits.Add(services);
        ForwardedHeadersSetup.Add(services, builder.Configuration);
        services.AddSingleton(sp => new CurrentUsers(sp.GetRequiredService<AccessDatabase>(), sp.GetRequiredService<TenantServers>(), sp.GetRequiredService<TimeProvider>())
        {
            TenantsPerPoll = sp.GetRequiredService<IOptions<TenancyOptions>>().Value.ValidCachePollTenants(),
        });
        services.AddSingleton<IChangeSubscriber>(sp => sp.GetRequiredService<CurrentUsers>());
        CallerAccessWatches.Add(services); // after CurrentUsers: an access notification reaches the cache first
        services.AddScoped<Inviter>();
        services.AddScoped<PasswordReset>();
        return builder;
    }

    /// <summary>What the host and the CLI share: options, password hashing and the tenant owner setup used by provisioning.</summary>
    public static IServiceCollection AddAccessCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccessOptions>().Bind(configuration.GetSection(AccessOptions.Section));
        services.AddOptions<MailOptions>().Bind(configuration.GetSection(MailOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<AccountOptions>().Bind(configuration.GetSection(AccountOptions.Section));
        services.AddTenantDbContext<AccessDbContext>();
        services.AddSingleton<AccessDatabase>();
        services.AddSingleton<UserPasswords>();
        services.AddSingleton<AccountMails>();
        services.AddSingleton<EmailVerifications>();
        services.AddSingleton<ITenantOwnerSetup, TenantOwnerSetup>();
        services.AddSingleton<ITenantRestoreStep, EndSessionsOfRestoredTenant>();
        services.AddSingleton<ITenantRestoreStep, OutboxOfRestoredTenant>();
        services.AddSingleton(TenantMoveSteps.CarryRow("platform.mail_due"));
        return services;
    }

    /// <summary>
    /// After tenant resolution, before authorization: the token's user and session as they are now (401 when gone); the
    /// current role replaces the token's for every policy; the user becomes the operation's actor and the log events' UserId.
    /// </summary>
    public static IApplicationBuilder UseAuthenticatedUser(this IApplicationBuilder app) => app.UseMiddleware<AuthenticatedUserMiddleware>();

    public static IEndpointRouteBuilder MapAccess(this IEndpointRouteBuilder app)
    {
        // Anonymous by design: these endpoints take the credentials. Tenant-scoped: users live in the tenant.
        var auth = app.MapGroup("/auth").RequireTenant().AllowAnonymous().WithTags("Auth");
        // Counted per tenant + client address by the anonymous limit (AccessRateLimits).
        auth.MapPost("/token", Login.HandleAsync)
            .ProducesProblems(StatusCodes.Status401Unauthorized, "invalid-credentials")
            .ProducesProblems(StatusCodes.Status403Forbidden, "email-unverified");
        auth.MapPost("/refresh", Refresh.HandleAsync).ProducesProblems(StatusCodes.Status401Unauthorized, "invalid-refresh-token");
        auth.MapPost("/logout", Logout.HandleAsync);

        auth.MapPost("/password-reset", PasswordReset.Request);
        auth.MapPost("/password-reset/confirm", PasswordReset.ConfirmAsync).ProducesProblems(StatusCodes.Status400BadRequest, "invalid-token");
        auth.MapPost("/verify-email", EmailVerifications.VerifyAsync).ProducesProblems(StatusCodes.Status400BadRequest, "invalid-token");

        MeEndpoints.Map(app);
        UsersEndpoints.Map(app);
        InvitationsEndpoints.Map(app);
        return app;
    }
}
