using System.Text.RegularExpressions;
using DbUp.Support;
using Npgsql;

namespace Monolith.Migrations;

/// <summary>
/// Brings an existing tenant schema up to date on a connection the caller holds (with the tenant's lock): reads the
/// schema's DbUp journal with one query, and applies each pending script in a transaction of its own (a failure keeps
/// what already succeeded) that also journals it — and, with the last one, the run-always adoption of shared functions.
/// Same scripts, same journal rows, same variables as <see cref="DbUpRunner.MigrateTenant"/>, without DbUp's per-run
/// set-up (an upgrader built per schema, a schema check, a journal check, a connection of its own), which is most of a
/// one-script migration's cost once thousands of schemas are migrated (docs/BENCHMARKS.md).
/// </summary>
public static partial class TenantJournal
{
    /// <summary>Null when the schema has no journal yet: the caller lets DbUp make it.</summary>
    public static async Task<MigrationOutcome?> MigrateAsync(
        NpgsqlConnection connection, string schema, string tenantRole, MigrationScripts scripts, CancellationToken ct)
    {
        var quoted = "\"" + schema.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        var applied = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await using var read = new NpgsqlCommand($"SELECT scriptname FROM {quoted}.{DbUpRunner.JournalTable}", connection);
            await using var reader = await read.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                applied.Add(reader.GetString(0));
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }

        var pending = scripts.Scripts.Where(s => s.SqlScriptOptions.ScriptType != ScriptType.RunAlways && !applied.Contains(s.Name)).ToList();
        var variables = new Dictionary<string, string>(StringComparer.Ordinal) { ["tenant_role"] = tenantRole, ["tenant_schema"] = schema };
        var done = new List<string>();
        foreach (var script in pending)
        {
            try
            {
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await using (var run = new NpgsqlCommand($"SET LOCAL search_path TO {quoted};\n{Substitute(script.Contents, variables)}", connection, transaction))
                {
                    await run.ExecuteNonQueryAsync(ct);
                }

                // The journal row, and after the last script the adoption of shared functions, in one round trip.
                await using (var record = new NpgsqlBatch(connection, transaction))
                {
                    var insert = new NpgsqlBatchCommand($"INSERT INTO {quoted}.{DbUpRunner.JournalTable} (scriptname, applied) VALUES ($1, $2)");
                    insert.Parameters.AddWithValue(script.Name);
                    insert.Parameters.AddWithValue(DateTime.SpecifyKind(DateTime.Now, DateTimeKind.Unspecified));
                    record.BatchCommands.Add(insert);
                    if (ReferenceEquals(script, pending[^1]))
                    {
                        record.BatchCommands.Add(new NpgsqlBatchCommand($"SET LOCAL search_path TO {quoted}"));
                        record.BatchCommands.Add(new NpgsqlBatchCommand(DbUpRunner.AdoptSharedFunctions.Contents));
                    }

                    await record.ExecuteNonQueryAsync(ct);
                }

                await transaction.CommitAsync(ct);
                done.Add(MigrationScripts.VersionOf(script.Name));
            }
            catch (PostgresException e)
            {
                return new MigrationOutcome(false, done, null, script.Name, e);
            }
        }

        return new MigrationOutcome(true, done, scripts.LatestVersion, null, null);
    }

    /// <summary>DbUp's <c>$name$</c> variables; a name it was not given stays as written (DbUp's run on the template refuses it first).</summary>
    private static string Substitute(string contents, Dictionary<string, string> variables) =>
        Variable().Replace(contents, m => variables.TryGetValue(m.Groups[1].Value, out var value) ? value : m.Value);

    [GeneratedRegex(@"\$(\w+)\$")]
    private static partial Regex Variable();
}
