namespace Monolith.Tenancy.Backups;

public sealed class BackupOptions
{
    public const string Section = "Backups";

    /// <summary>Where backup files go (<c>run.sh</c>: <c>.data/backups</c>); a folder per tenant identifier.</summary>
    public string Directory { get; set; } = Path.Combine(Path.GetTempPath(), "monolith-backups");

    /// <summary>Completed backups older than this are removed (file and row) by the daily purge job.</summary>
    public int RetentionDays { get; set; } = 90;

    /// <summary>The PostgreSQL client tools' folder; unset: the newest <c>/usr/lib/postgresql/*/bin</c>, else PATH.</summary>
    public string? PgBinDirectory { get; set; }
}
