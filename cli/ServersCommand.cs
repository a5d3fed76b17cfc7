using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monolith.Tenancy.Placement;

namespace Monolith.Cli;

/// <summary>
/// <c>servers list | add NAME --capacity N --connections-stdin | update NAME [--capacity N] [--status S] [--connections-stdin]</c>: the placement
/// map of CONTRACT §7 (docs/adr/0066). Connection strings are read from stdin (request role's, then owner role's, one a
/// line), never from arguments a process list or shell history would keep.
/// </summary>
internal static class ServersCommand
{
    public static Command Build(TextWriter stdout, TextWriter stderr, JsonSerializerOptions json, Option<bool> jsonOption,
        Func<Func<IServiceProvider, Task<int>>, Task<int>> run)
    {
        var servers = new Command("servers", "The database servers tenants are placed on.");

        var list = new Command("list", "List the servers, their capacity, status and tenants.") { jsonOption };
        list.SetAction((result, ct) => run(async sp =>
        {
            var rows = await sp.GetRequiredService<ServerMap>().ListAsync(ct);
            if (result.GetValue(jsonOption))
            {
                await stdout.WriteLineAsync(JsonSerializer.Serialize(rows, json));
                return CliApp.Success;
            }

            foreach (var s in rows)
            {
                await stdout.WriteLineAsync($"{s.Name,-16} {s.Status,-9} {s.Tenants,6}/{s.Capacity,-6} {s.Host}:{s.Port}/{s.Database}");
            }

            return CliApp.Success;
        }));
        servers.Subcommands.Add(list);

        var name = new Argument<string>("NAME") { Description = "The server's name (lowercase letters, digits, '-')." };
        var capacity = new Option<int?>("--capacity") { Description = "How many tenants the server should hold." };
        var connectionsStdin = new Option<bool>("--connections-stdin")
        {
            Description = "Read the request role's connection string, then the owner role's, from the first two lines of stdin.",
        };
        var add = new Command("add", "Add a server: checks its two roles and applies the platform scripts there.") { name, capacity, connectionsStdin, jsonOption };
        add.SetAction((result, ct) => run(async sp =>
        {
            if (!result.GetValue(connectionsStdin))
            {
                await stderr.WriteLineAsync("Give the two connection strings on stdin with --connections-stdin (request role's first, then owner role's).");
                return CliApp.InvalidUsage;
            }

            var request = (await Console.In.ReadLineAsync(ct))?.Trim();
            var owner = (await Console.In.ReadLineAsync(ct))?.Trim();
            var outcome = await sp.GetRequiredService<ServerMap>().AddAsync(result.GetValue(name), request, owner, result.GetValue(capacity), ct);
            return await ReportAsync(outcome, result.GetValue(jsonOption), json, stdout, stderr);
        }));
        servers.Subcommands.Add(add);

        var status = new Option<string?>("--status") { Description = "active, or draining (keeps its tenants, takes no new ones)." };
        var newConnectionsStdin = new Option<bool>("--connections-stdin")
        {
            Description = "Replace the connection strings (a rotated password): the request role's, then the owner role's, from the first two lines of stdin; an empty line keeps that one.",
        };
        var update = new Command("update", "Change a server's capacity, status or connection strings.") { name, capacity, status, newConnectionsStdin, jsonOption };
        update.SetAction((result, ct) => run(async sp =>
        {
            string? request = null, owner = null;
            if (result.GetValue(newConnectionsStdin))
            {
                request = (await Console.In.ReadLineAsync(ct))?.Trim() is { Length: > 0 } r ? r : null;
                owner = (await Console.In.ReadLineAsync(ct))?.Trim() is { Length: > 0 } o ? o : null;
                if (request is null && owner is null)
                {
                    await stderr.WriteLineAsync("--connections-stdin read no connection string: give the request role's on the first line, the owner role's on the second.");
                    return CliApp.InvalidUsage;
                }
            }

            var outcome = await sp.GetRequiredService<ServerMap>().UpdateAsync(
                result.GetValue(name)!, result.GetValue(capacity), result.GetValue(status), request, owner, ct);
            return await ReportAsync(outcome, result.GetValue(jsonOption), json, stdout, stderr);
        }));
        servers.Subcommands.Add(update);
        return servers;
    }

    private static async Task<int> ReportAsync(ServerResult outcome, bool asJson, JsonSerializerOptions json, TextWriter stdout, TextWriter stderr)
    {
        switch (outcome.Status)
        {
            case ServerChange.Invalid:
                var first = outcome.Errors!.First();
                await stderr.WriteLineAsync($"Invalid {first.Key}: {first.Value[0]}");
                return CliApp.InvalidUsage;
            case ServerChange.NotFound or ServerChange.Conflict:
                await stderr.WriteLineAsync(outcome.Detail);
                return CliApp.Failure;
        }

        var s = outcome.Server!;
        await stdout.WriteLineAsync(asJson ? JsonSerializer.Serialize(s, json) : $"{s.Name}: {s.Status}, {s.Tenants}/{s.Capacity} tenants, {s.Host}:{s.Port}/{s.Database}");
        return CliApp.Success;
    }
}
