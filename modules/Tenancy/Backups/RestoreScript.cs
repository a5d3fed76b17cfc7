using System.Text;
using System.Text.RegularExpressions;
using Monolith.Tenancy.Catalog;

namespace Monolith.Tenancy.Backups;

/// <summary>
/// Turns pg_restore's SQL for the original tenant into SQL for the restored one: its schema and role names become the
/// new tenant's everywhere outside the COPY data (which is copied byte for byte), and the schema is not created again
/// (provisioning made it, with its grants). Names are ours (<see cref="TenantIdentifier"/>: lowercase letters, digits,
/// '_'), so they never need quoting; a statement that would still name the original is refused.
/// </summary>
internal static partial class RestoreScript
{
    public static string Rewrite(string sql, TenantInfo original, TenantInfo target)
    {
        if (original.SchemaName == target.SchemaName && original.RoleName == target.RoleName)
        {
            // A move (docs/adr/0066): the same tenant under its own names on another server; the schema is made already.
            return sql.Replace($"\nCREATE SCHEMA {original.SchemaName};\n", "\n", StringComparison.Ordinal);
        }

        var name = Regex.Escape(original.SchemaName);
        // Qualified names, SCHEMA clauses, and the name alone in a string (a function's SET search_path TO 'schema').
        var schemaReference = new Regex($@"(?<![\w""$.]){name}(?=\.)|(?<=\bSCHEMA ){name}\b|(?<=')({name})(?=')");
        var roleReference = new Regex($@"\b{Regex.Escape(original.RoleName)}\b");
        var output = new StringBuilder(sql.Length);
        var inCopy = false;
        foreach (var line in sql.Split('\n'))
        {
            if (inCopy)
            {
                output.Append(line).Append('\n');
                inCopy = line != "\\.";
                continue;
            }

            if (line.StartsWith("--", StringComparison.Ordinal) || line.Length == 0)
            {
                output.Append(line).Append('\n');
                continue;
            }

            if (line == $"CREATE SCHEMA {original.SchemaName};")
            {
                continue;
            }

            var rewritten = roleReference.Replace(schemaReference.Replace(line, target.SchemaName), target.RoleName);
            if (schemaReference.IsMatch(rewritten) || roleReference.IsMatch(rewritten))
            {
                throw new InvalidOperationException("The backup holds a statement that would still name the original tenant; nothing was restored.");
            }

            output.Append(rewritten).Append('\n');
            inCopy = CopyFromStdin().IsMatch(rewritten);
        }

        return output.ToString();
    }

    [GeneratedRegex(@"^COPY .* FROM stdin;$")]
    private static partial Regex CopyFromStdin();
}
