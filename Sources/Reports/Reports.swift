// Reports module: see DESIGN.md. Replace this file with the first real source file.
enum ReportsModule {}
