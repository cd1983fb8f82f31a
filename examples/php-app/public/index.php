<?php
// The shared .env (BLUEGREEN_SHARED_PATHS=.env,public/uploads/) holds the secrets; it is linked into each release.
$env = parse_ini_file(__DIR__ . '/../.env') ?: [];
$release = require __DIR__ . '/../build-info.php';
$uploads = array_diff(scandir(__DIR__ . '/uploads') ?: [], ['.', '..', '.keep']);
?>
<!doctype html>
<link rel="stylesheet" href="/assets/site.css">
<h1><?= htmlspecialchars($env['APP_NAME'] ?? 'example') ?></h1>
<p>release <?= htmlspecialchars($release) ?>, <?= count($uploads) ?> uploaded files</p>
