"""The papers of a matter as PDF: meeting notice, sign-in sheet, minutes, review form, result announcement and the
archive dossier; and the annual report of a village, township or district."""
