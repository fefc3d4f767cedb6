// The command-line tool's help, in the administrator's language (LOCALE: fr by default, or en).
import { say } from "./text.mjs";

export const HELP = say(
	`Utilisation : npm run admin -- <commande> [options]

Commandes :
  status                       État des sauvegardes : le verdict d'abord (et quoi faire), puis la
                               dernière sauvegarde, la plus récente, les alertes, le budget.
  snapshots                    Liste des sauvegardes (la plus récente d'abord), en tableau.
  backup [--no-wait]           Lancer une sauvegarde maintenant et attendre son résultat.
  verify <id>                  Relire ici chaque morceau d'une sauvegarde (SHA-256, gzip, enregistrements).
  download <id> [--out DOSSIER]
                               Enregistrer le manifeste et les morceaux dans DOSSIER (par défaut
                               ./snapshots/<id>), vérifiés à leur arrivée.
  restore <id> [--mode dry-run|merge|replace] [--yes]
                               Restaurer depuis une sauvegarde. Toujours un aperçu d'abord (dry-run) ;
                               merge (fusionner) et replace (remplacer) demandent une confirmation (ou --yes).
  restore-status <restoreId>   Où en est une restauration.
  undo                         Annuler le dernier remplacement (replace) : les données d'avant reviennent.
  retention                    Ce que la politique de conservation garderait et supprimerait maintenant
                               (sans rien supprimer), en tableau.
  pins [--all]                 Sauvegardes épinglées après une disparition de données, et pourquoi
                               (--all : aussi les épinglages libérés).
  release-pin <pinId> [--yes]  Libérer un épinglage : la conservation normale s'applique de nouveau
                               à ses sauvegardes (demande une confirmation, sauf --yes).
  export-csv [--out FICHIER] [--raw]
                               Télécharger toutes les réponses en tableur (CSV), préparé d'abord par
                               le serveur (avancement affiché) ; --raw : pour les outils.

  <id> est l'identifiant d'une sauvegarde, en UTC (colonne « id » de \`snapshots\`).

Copies hors Cloudflare (docs/offsite.md) :
  pull <dossier> [--recipient CLE_AGE]... [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                               Miroir incrémental et vérifié de chaque sauvegarde complète dans DOSSIER
                               (un sous-dossier par sauvegarde), chiffré avec age si des destinataires
                               sont donnés (--recipient, ou $BACKUP_AGE_RECIPIENTS).
  verify-local <dossier> [--identity FICHIER_CLE]
                               Revérifier un miroir sans réseau (avec la clé age s'il est chiffré).
  push <dossier>/<id> [--identity FICHIER_CLE]
                               Reprise : envoyer une copie locale dans ce déploiement (vérifiée par
                               le serveur), puis restaurer depuis elle.
  Codes de sortie : 0 fait, 1 erreur, 3 réseau, 4 authentification, 5 vérification échouée.

Options :
  --url URL      Adresse du serveur (par défaut : $ADMIN_URL ou http://127.0.0.1:8787)
  --token JETON  Jeton administrateur (par défaut : $ADMIN_TOKEN, ou ADMIN_TOKEN dans .dev.vars)
  --json         Afficher les réponses JSON brutes

Langue et heure : LOCALE=fr (par défaut) ou LOCALE=en ; les heures sont celles de TIMEZONE
(par défaut Europe/Paris). Les identifiants restent en UTC.
`,
	`Usage: npm run admin -- <command> [options]

Commands:
  status                       State of the backups: the verdict first (what to do), then the last
                               run, newest snapshot, alerts, the plan budget.
  snapshots                    List the snapshots (newest first), as a table.
  backup [--no-wait]           Start a backup now and wait for its result.
  verify <id>                  Download every chunk and check it here (SHA-256, gzip, records).
  download <id> [--out DIR]
                               Save manifest and chunks in DIR (default ./snapshots/<id>),
                               checked against the manifest as they arrive.
  restore <id> [--mode dry-run|merge|replace] [--yes]
                               Restore from a snapshot. Always previews first (dry run);
                               merge/replace then ask for confirmation (or --yes).
  restore-status <restoreId>   Progress of a restore.
  undo                         Bring back the data replaced by the last "replace" restore.
  retention                    What the retention policy would keep and remove now (dry run), as a table.
  pins [--all]                 Snapshots pinned after a data loss, and why (--all: released pins too).
  release-pin <pinId> [--yes]  Release a pin: normal retention applies to its snapshots again
                               (asks for confirmation, unless --yes).
  export-csv [--out FILE] [--raw]
                               Download all answers as a spreadsheet (CSV), prepared by the
                               server first (progress shown); --raw: for tools (ids, stored values).

  <id> is a snapshot's id, in UTC (the "id" column of \`snapshots\`).

Copies outside Cloudflare (docs/offsite.md):
  pull <dir> [--recipient AGE_KEY]... [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                               Incremental, verified mirror of every complete snapshot in DIR
                               (one folder per snapshot), encrypted with age when recipients are
                               given (--recipient, or $BACKUP_AGE_RECIPIENTS).
  verify-local <dir> [--identity KEYFILE]
                               Re-check a mirror offline (with the age key file if encrypted).
  push <dir>/<snapshotId> [--identity KEYFILE]
                               Recovery: upload a local copy into this deployment (checked by
                               the server), then restore from it.
  Exit codes: 0 done, 1 error, 3 network, 4 authentication, 5 verification failed.

Options:
  --url URL      Server address (default: $ADMIN_URL or http://127.0.0.1:8787)
  --token TOKEN  Administrator token (default: $ADMIN_TOKEN, or ADMIN_TOKEN in .dev.vars)
  --json         Print raw JSON answers

Language and time: LOCALE=fr (default) or LOCALE=en; times are in TIMEZONE (default
Europe/Paris). Ids stay in UTC.
`,
);
